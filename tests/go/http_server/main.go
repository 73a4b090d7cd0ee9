// http_server: a net/http server shaped like a real one: every request
// builds maps of its own (the response headers, a copy of the request
// headers, its query values, a small map of counts), and one table shared
// by every handler, under a mutex, counts hits per path. It listens on
// 127.0.0.1 on a port of the kernel's choosing, prints "listening ADDR"
// and serves until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
)

type hits struct {
	mu sync.Mutex
	m  map[string]int
}

//go:noinline
func (h *hits) add(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[path]++ // @shared
	return h.m[path]
}

//go:noinline
func words(q string) map[string]int {
	counts := make(map[string]int)
	for i := 0; i < len(q); i += 3 {
		end := i + 3
		if end > len(q) {
			end = len(q)
		}
		counts[q[i:end]]++ // @words
	}
	return counts
}

func main() {
	table := &hits{m: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hdr := r.Header.Clone()
		hdr.Set("X-Seen", "1")
		q := r.URL.Query()
		n := table.add(r.URL.Path)
		c := words(q.Get("q"))
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Hits", strconv.Itoa(n))
		fmt.Fprintf(w, "%d %d %d\n", n, len(hdr), len(c))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println("listening", ln.Addr().String())
	panic(http.Serve(ln, mux))
}
