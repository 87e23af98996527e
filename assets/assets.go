// Package assets holds Trailscope's bundled resources: the application icon.
package assets

import _ "embed"

// Icon is the application icon (PNG, 256×256).
//
//go:embed icon.png
var Icon []byte
