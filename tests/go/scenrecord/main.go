// scenrecord: a process that runs for a few seconds for `record -p PID`.
// Its stdout is deterministic (a checksum per iteration); the speed of its
// map-write loop goes elsewhere (-timing), one line per window:
// "START_UNIX_NS END_UNIX_NS NS_PER_OP".
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

const (
	windows   = 4      // timed windows per iteration
	perWindow = 100000 // map writes per window
	keys      = 4096
)

func main() {
	iters := flag.Int("iters", 14, "iterations")
	interval := flag.Duration("interval", 500*time.Millisecond, "pause between iterations")
	timing := flag.String("timing", "", "file for the window timings (default stderr)")
	flag.Parse()

	tf := os.Stderr
	if *timing != "" {
		f, err := os.Create(*timing)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		tf = f
	}
	m := make(map[int]int, keys)
	n := 0
	for it := 0; it < *iters; it++ {
		for w := 0; w < windows; w++ {
			start := time.Now()
			for j := 0; j < perWindow; j++ {
				m[n%keys] = n // WRITE
				n++
			}
			end := time.Now()
			ns := float64(end.Sub(start).Nanoseconds()) / perWindow
			fmt.Fprintf(tf, "%d %d %.2f\n", start.UnixNano(), end.UnixNano(), ns)
		}
		var sum uint64
		for k, v := range m {
			sum += uint64(k)*31 + uint64(v)
		}
		fmt.Printf("iteration %d checksum %d\n", it, sum)
		time.Sleep(*interval)
	}
}
