"""The sync room: the service that runs a sync (`service`, public), the reading process
(`reader`), the reading and preparation of each case (`prepare`), the page writer that
executes the queue planner's plans (`page_writer`), erasure (`erasure`) and the retry set
(`retries`, public). Only `service` and `retries` are for code outside the sync (an
import-linter contract keeps it so)."""
