package datadir

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/dgraph-io/ristretto/v2/z"
)

// Badger's log files (.mem write-ahead logs and .vlog value logs) share one
// format: a 20-byte header (key ID, IV), then records of
//
//	meta:1 userMeta:1 uvarint(klen) uvarint(vlen) uvarint(expiresAt) key value crc32c:4
//
// where the CRC (Castagnoli) covers everything before it. Files are
// preallocated and zero-filled, so a log ends at its first unreadable
// record. On open, Badger cuts the log there. That is right for a record torn
// by a crash (never acknowledged, followed by zeros only) and wrong for a
// record damaged in the middle: every acknowledged record after it would be
// dropped without a word.
const (
	logHeaderSize = 20
	maxKeyLen     = 1 << 16 // Badger's own bound on a log record's key
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkLog returns an error when path holds a readable record after the
// first unreadable one.
func checkLog(path string) error {
	// Mapped, not read: logs are preallocated (a value log to twice its
	// size limit), mostly zeros that need no memory of their own.
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer mf.Close(-1) // -1: never truncate
	data := mf.Data
	if len(data) < logHeaderSize {
		if allZero(data) {
			return nil
		}
		return fmt.Errorf("shorter (%d bytes) than a log header", len(data))
	}
	off := logHeaderSize
	for {
		n, ok := logRecord(data, off)
		if !ok {
			break
		}
		off += n
	}
	// off is the first unreadable record (or the zeros that end the log).
	// A torn record is followed by zeros; a damaged one by more records.
	next := off + 1 // the first position not tried yet
	for p := next; p < len(data); p++ {
		p = nonZero(data, p)
		if p == len(data) {
			break
		}
		// A record has a key, so one of its first three bytes (meta,
		// userMeta, the key length's first) is not zero: a record that
		// starts before p in the zeros starts at p-2 at the earliest.
		for q := max(next, p-2); q <= p; q++ {
			if _, ok := logRecord(data, q); ok {
				return fmt.Errorf("unreadable record at byte %d, followed by readable records (the next at byte %d); Badger would drop everything from byte %d on", off, q, off)
			}
		}
		next = p + 1
	}
	return nil
}

var zeros [4096]byte

// nonZero returns the index of the first byte at or after p that is not
// zero, or len(b). Logs are mostly preallocated zeros: compare a page at a
// time.
func nonZero(b []byte, p int) int {
	for p+len(zeros) <= len(b) && bytes.Equal(b[p:p+len(zeros)], zeros[:]) {
		p += len(zeros)
	}
	for p < len(b) && b[p] == 0 {
		p++
	}
	return p
}

// logRecord decodes the record at off and returns its length, and whether
// it is a whole record with a key and a matching checksum.
func logRecord(data []byte, off int) (int, bool) {
	b := data[off:]
	if len(b) < 2 {
		return 0, false
	}
	i := 2
	var v [3]uint64
	for k := range v {
		x, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return 0, false
		}
		v[k] = x
		i += n
	}
	klen, vlen := v[0], v[1]
	if klen == 0 || klen > maxKeyLen || vlen > uint64(len(b)) {
		return 0, false
	}
	end := i + int(klen) + int(vlen)
	if end+crc32.Size > len(b) {
		return 0, false
	}
	if crc32.Checksum(b[:end], castagnoli) != binary.BigEndian.Uint32(b[end:]) {
		return 0, false
	}
	return end + crc32.Size, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
