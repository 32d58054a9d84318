"""visor-bridge: MAPPA case data from nDelius to ViSOR-format records, entered by vetted proxies."""

__version__ = "0.1.0"
