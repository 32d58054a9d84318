"""The mapping room: the declarative spec, its parser, the engine that applies it, and the
transforms, code tables, paths and routing it uses. Pure: no I/O."""
