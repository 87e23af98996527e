package ui

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRealWindow runs the built binary under Xvfb on a demo case: it waits for "dashboard ready", takes a
// screenshot into testdata/screenshots, checks that the chart area holds drawn lines, and
// stops the app with SIGTERM, which must exit 0. `make test-ui` sets TRAILSCOPE_BIN.
func TestRealWindow(t *testing.T) {
	bin := os.Getenv("TRAILSCOPE_BIN")
	if bin == "" {
		t.Skip("TRAILSCOPE_BIN is not set; `make test-ui` builds the binary and runs this test")
	}
	for _, tool := range []string{"Xvfb", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install xvfb imagemagick): %v", tool, err)
		}
	}
	display := startXvfb(t, 1280, 800)
	// A real demo case, made by the binary itself: generated, loaded and analysed.
	casePath := filepath.Join(t.TempDir(), "demo.tsc")
	if out, err := exec.Command(bin, "demo", "--case", casePath, "--days", "2", "--seed", "1").CombinedOutput(); err != nil {
		t.Fatalf("trailscope demo: %v\n%s", err, out)
	}
	home := t.TempDir()

	cmd := exec.Command(bin, "--case", casePath, "--size", "1280x800")
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "LANG=en_US.UTF-8", "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !seen && sc.Text() == "dashboard ready" {
				seen = true
				close(ready)
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("app exited before the dashboard was ready: %v\n%s", err, log.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("no \"dashboard ready\" within 3 minutes\n%s", log.String())
	}
	time.Sleep(time.Second) // the frame after the data

	dir := filepath.Join("..", "testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "realwindow.png")
	if out, err := exec.Command("import", "-display", display, "-window", "root", shot).CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	img := readPNG(t, shot)
	// The charts fill the left two thirds of the window below the tiles.
	b := img.Bounds()
	area := image.Rect(b.Dx()*12/100, b.Dy()*25/100, b.Dx()*65/100, b.Dy()*95/100)
	n, top := colourSpread(img, area)
	t.Logf("screenshot %s: chart area %v has %d colours, the commonest covers %.0f%%", shot, area, n, top*100)
	if n < 30 || top > 0.97 {
		t.Errorf("chart area looks empty: %d colours, commonest covers %.0f%%", n, top*100)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM the app exited with %v, want 0\n%s", err, log.String())
		}
	case <-time.After(10 * time.Second):
		// Go prints every goroutine's stack on SIGQUIT: where the app was stuck.
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
			t.Errorf("the app did not exit within 10 s of SIGTERM; its goroutines:\n%s", log.String())
		case <-time.After(5 * time.Second):
			t.Errorf("the app did not exit within 10 s of SIGTERM, nor on SIGQUIT")
		}
	}
}

// startXvfb starts a virtual X server on the first free display from :99 and stops it at the end.
func startXvfb(t *testing.T, w, h int) string {
	t.Helper()
	for n := 99; n < 160; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			continue
		}
		display := fmt.Sprintf(":%d", n)
		x := exec.Command("Xvfb", display, "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp")
		if err := x.Start(); err != nil {
			t.Fatalf("start Xvfb: %v", err)
		}
		t.Cleanup(func() { x.Process.Signal(syscall.SIGTERM); x.Wait() })
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return display
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("Xvfb on %s did not come up", display)
	}
	t.Skip("no free X display between :99 and :159")
	return ""
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// colourSpread counts the distinct colours in r and the share of the commonest.
func colourSpread(img image.Image, r image.Rectangle) (int, float64) {
	counts := map[color.NRGBA]int{}
	total := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			counts[color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)]++
			total++
		}
	}
	most := 0
	for _, c := range counts {
		most = max(most, c)
	}
	if total == 0 {
		return 0, 1
	}
	return len(counts), float64(most) / float64(total)
}
