// typenames writes one map of each shape below, each at its marked line,
// so that a report can be checked to name every map's type. The marker
// after "TYPE " is the runtime's own type string for that map (reflect's
// String()), which is what the tool must print.
package main

import (
	"fmt"
	"os"
	"time"
)

type T struct{ n int }

type point struct{ x, y int }

//go:noinline
func fill(n int) int {
	a := make(map[int]int)
	b := make(map[*T][]byte)
	c := make(map[string]int)
	d := make(map[point]string)
	e := make(map[int64]*T)
	f := make(map[uint32]struct{})
	for i := 0; i < n; i++ {
		t := &T{i}
		a[i] = i                  // TYPE map[int]int
		b[t] = []byte{byte(i)}    // TYPE map[*main.T][]uint8
		c[fmt.Sprint(i)] = i      // TYPE map[string]int
		d[point{i, -i}] = "x"     // TYPE map[main.point]string
		e[int64(i)] = t           // TYPE map[int64]*main.T
		f[uint32(i)] = struct{}{} // TYPE map[uint32]struct {}
	}
	return len(a) + len(b) + len(c) + len(d) + len(e) + len(f)
}

func main() {
	fmt.Println(fill(100))
	if len(os.Args) > 1 {
		// Stay alive for `info -p PID`; the test kills us.
		for {
			time.Sleep(time.Hour)
		}
	}
}
