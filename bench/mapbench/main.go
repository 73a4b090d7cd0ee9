// mapbench times a loop of map writes (runtime.mapassign_fast64 on a map
// that stays at 1024 keys, so it never grows) and prints the cost of one
// write in nanoseconds, twice: "cpu" from the writing thread's own CPU
// clock (which includes the time the kernel spends in its uprobes but not
// the time other processes hold the CPU: the machine is shared) and "wall".
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID

func threadCPUNanos() int64 {
	var ts syscall.Timespec
	_, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME,
		clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if e != 0 {
		fmt.Fprintln(os.Stderr, "mapbench: clock_gettime:", e)
		os.Exit(1)
	}
	return ts.Nano()
}

//go:noinline
func writes(m map[int]int, n int) {
	for i := 0; i < n; i++ {
		m[i&1023] = i
	}
}

func main() {
	n := 2000000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: mapbench [WRITES]")
			os.Exit(2)
		}
		n = v
	}
	// The thread CPU clock only means something if the loop stays on it.
	runtime.LockOSThread()
	m := make(map[int]int, 1024)
	writes(m, 1024) // every key present: the timed loop only overwrites
	cpu0, wall0 := threadCPUNanos(), time.Now()
	writes(m, n)
	cpu, wall := threadCPUNanos()-cpu0, time.Since(wall0).Nanoseconds()
	fmt.Printf("cpu %.2f wall %.2f\n", float64(cpu)/float64(n),
		float64(wall)/float64(n))
}
