package network

import "testing"

func TestBridgeMAC(t *testing.T) {
	a, b := bridgeMAC("br-0123456789ab"), bridgeMAC("br-0123456789ac")
	if a[0]&0x01 != 0 || a[0]&0x02 == 0 {
		t.Errorf("bridge MAC %s: want a unicast, locally administered address", a)
	}
	if a.String() == b.String() {
		t.Errorf("two bridges share the MAC address %s", a)
	}
	if again := bridgeMAC("br-0123456789ab"); again.String() != a.String() {
		t.Errorf("bridge MAC not stable: %s then %s", a, again)
	}
}
