// http_load: a bounded load generator for http_server (not traced):
// CONNS keep-alive clients request http://ADDR/pN?q=... for SECS seconds,
// then it prints "requests N errors E".
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: http_load ADDR CONNS SECS")
		os.Exit(2)
	}
	addr := os.Args[1]
	conns, _ := strconv.Atoi(os.Args[2])
	secs, _ := strconv.ParseFloat(os.Args[3], 64)
	stop := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var reqs, errs int64
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{
				MaxIdleConnsPerHost: 1}}
			for i := 0; time.Now().Before(stop); i++ {
				url := fmt.Sprintf("http://%s/p%d?q=abcdefghijklmnop%d",
					addr, i%4, c)
				resp, err := client.Get(url)
				if err != nil {
					atomic.AddInt64(&errs, 1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				atomic.AddInt64(&reqs, 1)
			}
		}(c)
	}
	wg.Wait()
	fmt.Printf("requests %d errors %d\n", reqs, errs)
}
