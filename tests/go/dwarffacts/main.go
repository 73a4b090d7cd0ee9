// dwarffacts prints, from a Go binary's DWARF as Go's own debug/dwarf reads
// it, the facts gomaptrace derives by other means: the offsets of the map
// header's write flag and hash seed (runtime.hmap.flags/hash0 for bucket
// maps, internal/runtime/maps.Map.writing/seed for Swiss maps) with their
// sizes, the offset of runtime.g.goid, and the constant runtime.hashWriting
// when the DWARF carries it. One JSON object on stdout; exit 1 with one
// line when the binary has no DWARF.
package main

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
)

type member struct {
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
}

var wanted = map[string][]string{
	"runtime.hmap":              {"flags", "hash0"},
	"internal/runtime/maps.Map": {"writing", "seed"},
	"runtime.g":                 {"goid"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dwarffacts BINARY")
		os.Exit(2)
	}
	f, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "dwarffacts:", err)
		os.Exit(1)
	}
	d, err := f.DWARF()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dwarffacts: no DWARF:", err)
		os.Exit(1)
	}
	out := map[string]interface{}{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			fmt.Fprintln(os.Stderr, "dwarffacts:", err)
			os.Exit(1)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch e.Tag {
		case dwarf.TagConstant:
			if name == "runtime.hashWriting" {
				out[name] = e.Val(dwarf.AttrConstValue)
			}
		case dwarf.TagStructType:
			fields, ok := wanted[name]
			if !ok || !e.Children {
				continue
			}
			if _, seen := out[name]; seen {
				r.SkipChildren()
				continue
			}
			t, err := d.Type(e.Offset)
			if err != nil {
				continue
			}
			st, ok := t.(*dwarf.StructType)
			if !ok {
				continue
			}
			got := map[string]member{}
			for _, fl := range st.Field {
				for _, w := range fields {
					if fl.Name == w {
						got[w] = member{fl.ByteOffset, fl.Type.Size()}
					}
				}
			}
			out[name] = got
			r.SkipChildren()
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
