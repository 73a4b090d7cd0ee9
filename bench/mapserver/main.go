// mapserver is the daemon benchmarks' test server: an HTTP server with one
// map shared by every handler (a mutex orders its writes, one per request)
// and several private maps per request, the shape of a real service. The
// benchmark waits for the daemon's report to name the shared map by the
// line marked "shared write" below, so that line must stay a map write.
//
//	mapserver ADDR    serve on ADDR (127.0.0.1:PORT) until killed
package main

import (
	"fmt"
	"net/http"
	"os"
	"sync"
)

var (
	mu   sync.Mutex
	hits = make(map[string]int) // the shared map: every handler writes it
)

// count is not inlined so the shared write keeps its own line and frame.
//
//go:noinline
func count(path string) int {
	mu.Lock()
	hits[path]++ // shared write
	n := len(hits)
	mu.Unlock()
	return n
}

// private builds a request's own maps: the many short-lived maps a real
// server makes (headers, query values, a response model), none shared.
func private(r *http.Request, seq int) int {
	hdr := make(map[string]string, 8)
	for k, v := range r.Header {
		if len(v) > 0 {
			hdr[k] = v[0]
		}
	}
	model := make(map[int]int, 16)
	for i := 0; i < 16; i++ {
		model[i] = seq + i
	}
	words := make(map[string]int)
	for _, w := range []string{r.Method, r.URL.Path, r.Proto, "x"} {
		words[w] += len(w)
	}
	return len(hdr) + len(model) + len(words)
}

func handler(w http.ResponseWriter, r *http.Request) {
	n := count(r.URL.Path)
	v := private(r, n)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "ok %d %d\n", n, v)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mapserver ADDR")
		os.Exit(2)
	}
	http.HandleFunc("/", handler)
	srv := &http.Server{Addr: os.Args[1]}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "mapserver:", err)
		os.Exit(1)
	}
}
