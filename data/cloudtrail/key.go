package cloudtrail

// EventKey is a 63-bit hash of an eventID with ASCII letters folded to lower case: a case
// indexes eventIDs by it, an integer being cheaper to sort and store than the text. It is kept
// in case files, so it must never change: FNV-1a, 64 bits, the top bit dropped.
func EventKey(id string) int64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= prime
	}
	return int64(h >> 1)
}
