package pipeline

// WarmHeld returns the bytes a prefetch's warm start holds in buffers now
// and the most it held at once (0, 0: no warm start), for the tests.
func WarmHeld(p *Prefetch) (held, peak int64) {
	<-p.done
	if p.pl == nil || p.pl.warm == nil {
		return 0, 0
	}
	return p.pl.warm.held.Load(), p.pl.warm.peak.Load()
}

// WarmWait waits for a prefetch's warm downloads to end.
func WarmWait(p *Prefetch) {
	<-p.done
	if p.pl != nil && p.pl.warm != nil {
		p.pl.warm.wg.Wait()
	}
}
