package rights_test

import (
	"fmt"
	"strings"
	"testing"

	"hdw/rights"
)

// BenchmarkFind resolves and locates one person among 2000 records
// (identity, health and genetic tables decrypted and scanned each time).
func BenchmarkFind(b *testing.B) {
	f := newFixture(b)
	var m strings.Builder
	m.WriteString(header)
	for i := 0; i < 2000; i++ {
		p := f.B
		p.last = fmt.Sprintf("Name%d", i)
		m.WriteString(p.row("", "J45", "", ""))
	}
	m.WriteString(f.A.row("", "C50", "", "BRCA1"))
	f.ingest(b, "bench", f.now, m.String())
	s := f.service(b, func(o *rights.Options) { o.MaxPerDay = 1000 })
	var size int64
	for info := range f.st.List(f.ctx, "identity/") {
		size += info.Size
	}
	for info := range f.st.List(f.ctx, "health/") {
		size += info.Size
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		loc, err := s.Find(f.ctx, req(fmt.Sprintf("B-%d", i%10)), subjNIR(f.A))
		if err != nil || loc.Records != 1 {
			b.Fatal(err, loc.Records)
		}
	}
}
