package pipeline

import (
	"slices"
	"sort"

	"hdw/objstore"
)

// listing is a source's objects in key order, held compactly for the
// whole run (every manifest row is paired with its image by key, and the
// images without a row are found at the end): about 80 bytes and the key
// an object, against about 300 in a map of objstore.Info (issue 9: an
// upload of a million files must not need gigabytes to be planned).
type listing struct {
	keys []string
	size []int64
	etag []string
	used []uint64 // bit i: object i is the image of some row
}

// add appends an object (in any order; sort once all are added).
func (l *listing) add(info objstore.Info) {
	l.keys = append(l.keys, info.Key)
	l.size = append(l.size, info.Size)
	l.etag = append(l.etag, info.ETag)
}

// sort orders the objects by key (stores list in lexical order already;
// this is a check) and sizes the used bits.
func (l *listing) sort() {
	if !slices.IsSorted(l.keys) {
		idx := make([]int, len(l.keys))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return l.keys[idx[a]] < l.keys[idx[b]] })
		keys, size, etag := make([]string, len(idx)), make([]int64, len(idx)), make([]string, len(idx))
		for j, i := range idx {
			keys[j], size[j], etag[j] = l.keys[i], l.size[i], l.etag[i]
		}
		l.keys, l.size, l.etag = keys, size, etag
	}
	l.used = make([]uint64, (len(l.keys)+63)/64)
}

func (l *listing) len() int { return len(l.keys) }

// find returns the index of key, if listed.
func (l *listing) find(key string) (int, bool) {
	if key == "" {
		return 0, false
	}
	return slices.BinarySearch(l.keys, key)
}

func (l *listing) info(i int) objstore.Info {
	return objstore.Info{Key: l.keys[i], Size: l.size[i], ETag: l.etag[i]}
}

func (l *listing) isUsed(i int) bool { return l.used[i/64]&(1<<(i%64)) != 0 }
func (l *listing) use(i int)         { l.used[i/64] |= 1 << (i % 64) }
