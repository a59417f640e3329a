package keystest_test

import (
	"testing"

	"hdw/keys"
	"hdw/keys/keystest"
)

func TestConformanceFake(t *testing.T) {
	v := keystest.NewFakeVault()
	keystest.Conformance(t, func(t *testing.T, profile string) keys.Provider {
		return keystest.NewFake(profile, v)
	})
}
