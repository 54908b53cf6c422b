package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/berthdev/berth/images"
)

func TestImagesTableShowsEachImageAndItsStatus(t *testing.T) {
	now := time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC)
	infos := []images.Info{
		{Ref: images.PauseRef, Kind: "pause", Status: images.StatusMissing},
		{
			Ref: images.DemoRef, Kind: "demo", Status: images.StatusStale,
			ID: "sha256:3172f631d48acdce612ba4bb85d6d773dfa4a413e8230cb216d7bc9b5efbeddb", Size: 19_340_000,
			Created: now.Add(-2 * time.Hour), BinaryDigest: "sha256:d697be9a4607c889075f61ee42dd8614d675dd4058b412a8b76ff7bfae5da121",
		},
	}
	var out bytes.Buffer
	writeImagesTable(&out, infos, now)
	want := "" +
		"IMAGE                STATUS    ID             SIZE      CREATED       BINARY\n" +
		"berth/pause:latest   missing   -              -         -             -\n" +
		"berth/demo:latest    stale     3172f631d48a   19.34MB   2 hours ago   d697be9a4607\n"
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}
