package strata

// A reader of the Arrow IPC streams the tests get from Scan and Lake.Scan, enough to compare
// their rows: flat schemas of int64, float64 and utf8 columns, uncompressed (what strata
// writes). The package uses only the standard library, so there is no Arrow library to ask;
// the flatbuffer tables are read by hand (format/Message.fbs, Schema.fbs in Apache Arrow).

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// fbTable is a flatbuffer table: its buffer and position.
type fbTable struct {
	buf []byte
	pos int
}

func (t fbTable) u32(at int) int { return int(binary.LittleEndian.Uint32(t.buf[at:])) }

// field returns the absolute position of field i, or 0 when it is absent.
func (t fbTable) field(i int) int {
	vtable := t.pos - int(int32(binary.LittleEndian.Uint32(t.buf[t.pos:])))
	vlen := int(binary.LittleEndian.Uint16(t.buf[vtable:]))
	slot := 4 + 2*i
	if slot >= vlen {
		return 0
	}
	off := int(binary.LittleEndian.Uint16(t.buf[vtable+slot:]))
	if off == 0 {
		return 0
	}
	return t.pos + off
}

func (t fbTable) int64Field(i int) int64 {
	at := t.field(i)
	if at == 0 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(t.buf[at:]))
}

func (t fbTable) byteField(i int) byte {
	at := t.field(i)
	if at == 0 {
		return 0
	}
	return t.buf[at]
}

func (t fbTable) table(i int) fbTable {
	at := t.field(i)
	return fbTable{t.buf, at + t.u32(at)}
}

// vector returns the position of the first element of vector field i and its length.
func (t fbTable) vector(i int) (int, int) {
	at := t.field(i)
	if at == 0 {
		return 0, 0
	}
	start := at + t.u32(at)
	return start + 4, t.u32(start)
}

func (t fbTable) str(i int) string {
	start, n := t.vector(i)
	return string(t.buf[start : start+n])
}

// ipcTable is what an Arrow IPC stream holds: column names, their types, rows as text.
type ipcTable struct {
	names []string
	types []string
	rows  [][]string
}

// Arrow's Type union tags that the tests meet.
const (
	typeInt      = 2
	typeFloat    = 3
	typeUtf8     = 5
	headerSchema = 1
	headerBatch  = 3
)

func readIPC(data []byte) (*ipcTable, error) {
	out := &ipcTable{}
	for pos := 0; ; {
		if pos+8 > len(data) {
			return nil, fmt.Errorf("stream ends at %d without an end marker", pos)
		}
		if binary.LittleEndian.Uint32(data[pos:]) != 0xFFFFFFFF {
			return nil, fmt.Errorf("no continuation marker at %d", pos)
		}
		size := int(binary.LittleEndian.Uint32(data[pos+4:]))
		pos += 8
		if size == 0 {
			return out, nil
		}
		meta := data[pos : pos+size]
		pos += size
		msg := fbTable{meta, int(binary.LittleEndian.Uint32(meta))}
		body := int(msg.int64Field(3))
		switch msg.byteField(1) {
		case headerSchema:
			schema := msg.table(2)
			start, n := schema.vector(1)
			for i := 0; i < n; i++ {
				at := start + 4*i
				field := fbTable{meta, at + int(binary.LittleEndian.Uint32(meta[at:]))}
				out.names = append(out.names, field.str(0))
				switch field.byteField(2) {
				case typeInt:
					out.types = append(out.types, "int64")
				case typeFloat:
					out.types = append(out.types, "float64")
				case typeUtf8:
					out.types = append(out.types, "utf8")
				default:
					return nil, fmt.Errorf("column %s: unexpected type %d", field.str(0), field.byteField(2))
				}
			}
		case headerBatch:
			if err := out.readBatch(msg.table(2), data[pos:pos+body]); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected message type %d", msg.byteField(1))
		}
		pos += body
	}
}

func (out *ipcTable) readBatch(batch fbTable, body []byte) error {
	if batch.field(3) != 0 {
		return fmt.Errorf("compressed batches are not read here")
	}
	length := int(batch.int64Field(0))
	nodes, nNodes := batch.vector(1)
	buffers, nBuffers := batch.vector(2)
	if nNodes != len(out.types) {
		return fmt.Errorf("%d field nodes for %d columns", nNodes, len(out.types))
	}
	buffer := func(i int) []byte {
		at := buffers + 16*i
		off := int(binary.LittleEndian.Uint64(batch.buf[at:]))
		n := int(binary.LittleEndian.Uint64(batch.buf[at+8:]))
		return body[off : off+n]
	}
	rows := make([][]string, length)
	for r := range rows {
		rows[r] = make([]string, len(out.types))
	}
	b := 0
	for c, ty := range out.types {
		nulls := int(binary.LittleEndian.Uint64(batch.buf[nodes+16*c+8:]))
		validity := buffer(b)
		null := func(r int) bool { return nulls > 0 && len(validity) > 0 && validity[r/8]&(1<<(r%8)) == 0 }
		switch ty {
		case "int64", "float64":
			values := buffer(b + 1)
			b += 2
			for r := 0; r < length; r++ {
				bits := binary.LittleEndian.Uint64(values[8*r:])
				switch {
				case null(r):
					rows[r][c] = "null"
				case ty == "int64":
					rows[r][c] = strconv.FormatInt(int64(bits), 10)
				default:
					rows[r][c] = strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
				}
			}
		case "utf8":
			offsets, values := buffer(b+1), buffer(b+2)
			b += 3
			for r := 0; r < length; r++ {
				from := binary.LittleEndian.Uint32(offsets[4*r:])
				to := binary.LittleEndian.Uint32(offsets[4*r+4:])
				if null(r) {
					rows[r][c] = "null"
				} else {
					rows[r][c] = string(values[from:to])
				}
			}
		}
	}
	if b != nBuffers {
		return fmt.Errorf("%d buffers for %d read", nBuffers, b)
	}
	out.rows = append(out.rows, rows...)
	return nil
}
