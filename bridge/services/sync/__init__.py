"""The sync room: the service that runs a sync, the reader that fetches cases, the
preparation of each case, the page writer that executes the planner's steps, and erasure."""
