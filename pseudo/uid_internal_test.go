package pseudo

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestDecimal128SameAsBigInt: the keyed UID's digits are those big.Int
// wrote (the mapping of every UID already stored must not change), for
// edge values and random ones.
func TestDecimal128SameAsBigInt(t *testing.T) {
	vals := [][2]uint64{{0, 0}, {0, 1}, {0, 9}, {0, 10}, {0, 1e19 - 1}, {0, 1e19}, {0, 1e19 + 1}, {0, math.MaxUint64},
		{1, 0}, {1, math.MaxUint64}, {math.MaxUint64, math.MaxUint64}, {math.MaxUint64, 0}, {0x8000000000000000, 0}}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 100000; i++ {
		vals = append(vals, [2]uint64{r.Uint64() >> r.UintN(64), r.Uint64()})
	}
	for _, v := range vals {
		n := new(big.Int).Lsh(new(big.Int).SetUint64(v[0]), 64)
		n.Or(n, new(big.Int).SetUint64(v[1]))
		if got, want := decimal128(v[0], v[1]), n.String(); got != want {
			t.Fatalf("decimal128(%d, %d) = %s, big.Int %s", v[0], v[1], got, want)
		}
	}
}
