package main

type evilTyYQYQY int

//go:noinline
func evilFnZQZQZ(m map[evilTyYQYQY]int, i int) {
	m[evilTyYQYQY(i%1024)] = i // WRITE
}
