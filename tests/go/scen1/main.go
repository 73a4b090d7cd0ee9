// scen1: goroutines write one map with no lock, until the runtime
// notices ("fatal error: concurrent map writes").
package main

import "runtime"

func main() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 2)
	m := make(map[int]int)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				m[(i*8+g)%1024] = i // WRITE
			}
		}(g)
	}
	select {}
}
