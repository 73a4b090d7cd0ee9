// scen3: goroutines range over a map while one goroutine writes it, until
// "fatal error: concurrent map iteration and map write". One writer only:
// two writers would die of "concurrent map writes" first.
package main

import "runtime"

var sink int

func ranger(m map[int]int) {
	sum := 0
	for {
		for k, v := range m { // RANGE
			sum += k + v
		}
		sink = sum
	}
}

func main() {
	runtime.GOMAXPROCS(runtime.NumCPU() + 2)
	m := make(map[int]int)
	for i := 0; i < 64; i++ {
		m[i] = i
	}
	for g := 0; g < 3; g++ {
		go ranger(m)
	}
	for i := 0; ; i++ {
		m[i%64] = i // WRITE
	}
}
