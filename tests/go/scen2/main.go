// scen2: goroutines delete from one map while others write it, with no
// lock, until "fatal error: concurrent map writes".
package main

import "runtime"

func main() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 2)
	m := make(map[int]int)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				m[(i*4+g)%1024] = i // WRITE
			}
		}(g)
		go func(g int) {
			for i := 0; ; i++ {
				delete(m, (i*4+g)%1024) // DELETE
			}
		}(g)
	}
	select {}
}
