// gosymref is `go tool addr2line` for PIE binaries: the same lookup
// (debug/gosym's PCToLine over .gopclntab, text start from runtime.text)
// and the same output, two lines per address read from stdin. Go 1.19's
// addr2line cannot be used on PIE binaries: cmd/internal/objfile only looks
// for a section named ".gopclntab", and in a PIE it is
// ".data.rel.ro.gopclntab".
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
)

func section(f *elf.File, names ...string) []byte {
	for _, n := range names {
		if s := f.Section(n); s != nil {
			d, err := s.Data()
			if err != nil {
				log.Fatal(err)
			}
			return d
		}
	}
	return nil
}

func main() {
	f, err := elf.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var textStart uint64
	if s := f.Section(".text"); s != nil {
		textStart = s.Addr
	}
	if syms, err := f.Symbols(); err == nil {
		for _, s := range syms {
			if s.Name == "runtime.text" {
				textStart = s.Value
				break
			}
		}
	}
	pcln := section(f, ".gopclntab", ".data.rel.ro.gopclntab")
	symtab := section(f, ".gosymtab", ".data.rel.ro.gosymtab")
	tab, err := gosym.NewTable(symtab, gosym.NewLineTable(pcln, textStart))
	if err != nil {
		log.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		pc, _ := strconv.ParseUint(strings.TrimPrefix(in.Text(), "0x"), 16, 64)
		file, line, fn := tab.PCToLine(pc)
		name := "?"
		if fn != nil {
			name = fn.Name
		} else {
			file = "?"
			line = 0
		}
		fmt.Fprintf(out, "%s\n%s:%d\n", name, file, line)
	}
	out.Flush()
}
