package main

// adaptiveWorkers reports whether an ingest's worker count adapts to what
// is measured (issue 24 item 2): when neither --workers nor ingest.workers
// fixes it. The automatic count (configs.AutoWorkers) is then the most run
// at once, and the cores the fewest.
func adaptiveWorkers(flag, configured int) bool { return flag == 0 && configured <= 0 }
