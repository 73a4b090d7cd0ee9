// longrun: a process that runs for a bounded few seconds so the detach
// tests can attach to it, stop gomaptrace in every way, and check that it
// carried on unharmed.
//
// Several long-lived worker goroutines each write their own map; a window
// is one batch of writes by all of them at once. Its stdout is
// deterministic (a checksum per iteration, then a total); the speed of
// each window goes to -timing, one line per window:
// "START_UNIX_NS END_UNIX_NS NS_PER_OP".
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

const keys = 4096

type worker struct {
	id   int
	m    map[int]int
	n    int
	work chan int // writes to do; 0 asks for the checksum
	sum  chan uint64
}

// write does one window's share of writes into the worker's own map.
func (w *worker) write(count int) {
	for j := 0; j < count; j++ {
		w.m[w.n%keys] = w.n*7 + w.id // WRITE
		w.n++
	}
}

// Only the worker touches its map: one goroutine per map, always.
func (w *worker) loop(done *sync.WaitGroup) {
	for count := range w.work {
		if count == 0 {
			w.sum <- w.checksum()
			continue
		}
		w.write(count)
		done.Done()
	}
}

func (w *worker) checksum() uint64 {
	var sum uint64
	for k, v := range w.m {
		sum += uint64(k)*31 + uint64(v)
	}
	return sum
}

func openTiming(path string) *os.File {
	if path == "" {
		return os.Stderr
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return f
}

func main() {
	iters := flag.Int("iters", 16, "iterations")
	windows := flag.Int("windows", 2, "timed windows per iteration")
	perWindow := flag.Int("writes", 30000, "writes per worker per window")
	nworkers := flag.Int("workers", 3, "writing goroutines")
	interval := flag.Duration("interval", 400*time.Millisecond, "pause between iterations")
	timing := flag.String("timing", "", "file for the window timings (default stderr)")
	flag.Parse()

	tf := openTiming(*timing)
	defer tf.Close()
	var done sync.WaitGroup
	workers := make([]*worker, *nworkers)
	for i := range workers {
		workers[i] = &worker{id: i, m: make(map[int]int, keys), work: make(chan int), sum: make(chan uint64)}
		go workers[i].loop(&done)
	}
	total := 0
	for it := 0; it < *iters; it++ {
		for win := 0; win < *windows; win++ {
			start := time.Now()
			done.Add(len(workers))
			for _, w := range workers {
				w.work <- *perWindow
			}
			done.Wait()
			end := time.Now()
			n := *perWindow * len(workers)
			total += n
			ns := float64(end.Sub(start).Nanoseconds()) / float64(n)
			fmt.Fprintf(tf, "%d %d %.2f\n", start.UnixNano(), end.UnixNano(), ns)
		}
		var sum uint64
		for _, w := range workers {
			w.work <- 0
			sum = sum*1000003 + <-w.sum
		}
		fmt.Printf("iteration %d checksum %d\n", it, sum)
		time.Sleep(*interval)
	}
	fmt.Printf("done %d writes\n", total)
}
