package mqtt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWotmqTopicAliasesOnDemand: a client's topic alias maps are made by
// their first alias, not with the client: two empty maps cost about 450
// bytes per idle connection (issue 15), and most clients never use one.
func TestWotmqTopicAliasesOnDemand(t *testing.T) {
	a := NewTopicAliases(5)
	require.Nil(t, a.Inbound.internal)
	require.Nil(t, a.Outbound.internal)

	require.Equal(t, "a/b", a.Inbound.Set(1, "a/b"))
	require.Equal(t, "a/b", a.Inbound.Set(1, ""), "an alias set is found again")
	id, existed := a.Outbound.Set("c/d")
	require.Equal(t, uint16(1), id)
	require.False(t, existed)
	id, existed = a.Outbound.Set("c/d")
	require.Equal(t, uint16(1), id)
	require.True(t, existed)

	none := NewTopicAliases(0)
	require.Equal(t, "x", none.Inbound.Set(1, "x"))
	id, _ = none.Outbound.Set("x")
	require.Equal(t, uint16(0), id)
	require.Nil(t, none.Inbound.internal, "no map without aliases")
	require.Nil(t, none.Outbound.internal)
}
