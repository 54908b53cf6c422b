package typo

import "testing"

// One typo apart: a letter added, dropped, changed, or swapped with its
// neighbour, in either order of the words.
func TestDistanceIsOneForOneTypo(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"demo", "demo", true},
		{"dmeo", "demo", true},
		{"deom", "demo", true},
		{"demo", "demos", true},
		{"emo", "demo", true},
		{"dem", "demo", true},
		{"dexo", "demo", true},
		{"pasue", "pause", true},
		{"", "", true},
		{"d", "", true},
		{"dmoe", "demo", false},
		{"de", "demo", false},
		{"demoxx", "demo", false},
		{"pause", "demo", false},
		{"dxmx", "demo", false},
		{"", "demo", false},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b) <= 1; got != tt.want {
			t.Errorf("Distance(%q, %q) <= 1 is %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a) <= 1; got != tt.want {
			t.Errorf("Distance(%q, %q) <= 1 is %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}
