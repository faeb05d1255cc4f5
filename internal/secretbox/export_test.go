package secretbox

import "strings"

// Sealed reports whether stored is a sealed value (of any key).
func Sealed(stored string) bool { return strings.HasPrefix(stored, sealedPrefix) }
