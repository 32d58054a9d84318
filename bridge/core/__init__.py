"""The pure core: snapshot → scope → map → diff. No network, database, files, environment or clock."""
