package images

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"
)

// The exported names below let the external tests build images under refs
// of their own, so they never touch PauseRef or DemoRef, which tests of
// other packages use at the same time.

// BuildAs builds the image berthRef (PauseRef or DemoRef) tagged as ref.
func BuildAs(ctx context.Context, api client.APIClient, binaryPath, berthRef, ref string) error {
	k, ok := kindOf(berthRef)
	if !ok {
		return fmt.Errorf("%s: %w", berthRef, ErrUnknownImage)
	}
	return rebuild(ctx, api, binaryPath, k, ref)
}

var (
	RuntimeFiles     = runtimeFiles
	LayerEntries     = layerEntries
	WriteLayer       = writeLayer
	ReadLoadResponse = readLoadResponse
	BinaryDigest     = binaryDigest
)

// RuntimeFilePaths lists where runtimeFiles puts each file in the image.
func RuntimeFilePaths(binary string) ([]string, error) {
	files, err := runtimeFiles(binary)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.path)
	}
	return paths, err
}

// KeepDigestsAtOnce makes the digests of binaries just written kept on
// disk, as those of binaries left alone for a while are, until the test
// ends.
func KeepDigestsAtOnce(cleanup func(func())) {
	before := digestSettle
	digestSettle = 0
	cleanup(func() { digestSettle = before })
}

// ForgetDigests empties this process's memory of digests, as a new
// process starts with.
func ForgetDigests() {
	digestCache.Lock()
	digestCache.byPath = map[string]*cachedDigest{}
	digestCache.Unlock()
}
