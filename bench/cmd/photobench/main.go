// Command photobench de-identifies every photo of a folder into another
// folder with hdw's photo handler (for bench/peers-photo.sh), or generates
// synthetic EXIF-laden JPEGs with -synth N.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"hdw/masking"
	"hdw/masking/photo"
	"hdw/synth"
)

func main() {
	in := flag.String("in", "", "input folder")
	out := flag.String("out", "", "output folder")
	n := flag.Int("synth", 0, "generate N synthetic JPEGs into -in")
	w := flag.Int("w", 4000, "synthetic width")
	h := flag.Int("h", 3000, "synthetic height")
	faces := flag.Bool("faces", false, "also run face detection")
	flag.Parse()
	if *n > 0 {
		os.MkdirAll(*in, 0o755)
		for i := 0; i < *n; i++ {
			var b bytes.Buffer
			p := synth.Person{LastName: fmt.Sprintf("Name%d", i), FirstName: "Bench", BirthDate: "1970-01-01", PPI: fmt.Sprintf("PPI%07d", i), Phone: "06 00 00 00 00"}
			if err := synth.JPEG(&b, synth.PhotoSpec{Person: p, W: *w, H: *h}); err != nil {
				panic(err)
			}
			os.WriteFile(filepath.Join(*in, fmt.Sprintf("p%04d.jpg", i)), b.Bytes(), 0o644)
		}
		return
	}
	os.MkdirAll(*out, 0o755)
	files, _ := os.ReadDir(*in)
	d := masking.New(photo.New(photo.Config{}))
	jobs := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < runtime.NumCPU(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				data, err := os.ReadFile(filepath.Join(*in, name))
				if err != nil {
					continue
				}
				var o bytes.Buffer
				if _, err := d.Deidentify(context.Background(), &o, bytes.NewReader(data), int64(len(data)), masking.Person{}, masking.Options{Faces: *faces}); err != nil {
					fmt.Fprintln(os.Stderr, "photobench:", err)
					continue
				}
				os.WriteFile(filepath.Join(*out, name), o.Bytes(), 0o644)
			}
		}()
	}
	for _, f := range files {
		jobs <- f.Name()
	}
	close(jobs)
	wg.Wait()
}
