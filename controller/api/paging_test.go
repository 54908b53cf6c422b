package api_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

func identity(s string) string { return s }

func TestPageSizeKeepsMaxResultsBetween1And100(t *testing.T) {
	cases := []struct {
		name    string
		max     *int32
		want    int
		wantErr bool
	}{
		{"unset is 100", nil, 100, false},
		{"1 is fine", ptr[int32](1), 1, false},
		{"100 is fine", ptr[int32](100), 100, false},
		{"0 is refused", ptr[int32](0), 0, true},
		{"101 is refused", ptr[int32](101), 0, true},
		{"a negative size is refused", ptr[int32](-5), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := api.PageSize(c.max)
			if got != c.want || (err != nil) != c.wantErr {
				t.Fatalf("got %d, %v", got, err)
			}
			if err != nil && !errors.Is(err, &api.Error{Type: api.TypeInvalidParameter}) {
				t.Errorf("%v is not an InvalidParameterException", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPaginateWalksEveryItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 99, 100, 101, 250} {
		for _, size := range []int32{1, 3, 100} {
			t.Run(fmt.Sprintf("%d items by %d", n, size), func(t *testing.T) {
				var items []string
				for i := range n {
					items = append(items, fmt.Sprintf("arn:aws:ecs:us-east-1:1:cluster/c%04d", i))
				}
				var got []string
				token, pages := "", 0
				for {
					page, next, err := api.Paginate(items, identity, token, &size)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					if len(page) > int(size) {
						t.Fatalf("a page of %d items, over %d", len(page), size)
					}
					got = append(got, page...)
					if next == "" || len(got) > n {
						break
					}
					token = next
				}
				if !slices.Equal(got, items) {
					t.Errorf("walked %d items in %d pages, want %d", len(got), pages, n)
				}
			})
		}
	}
}

func TestPaginateGoesOnAfterTheLastItemServedWhenItemsChange(t *testing.T) {
	items := []string{"a", "b", "c", "d"}
	page, next, _ := api.Paginate(items, identity, "", ptr[int32](2))
	if !slices.Equal(page, []string{"a", "b"}) {
		t.Fatalf("first page %v", page)
	}
	// "a" was deleted and "bb" added between the calls.
	page, next, _ = api.Paginate([]string{"b", "bb", "c", "d"}, identity, next, ptr[int32](2))
	if !slices.Equal(page, []string{"bb", "c"}) || next == "" {
		t.Errorf("second page %v, next %q; want [bb c] and more", page, next)
	}
}

func TestPaginateWalksADescendingListDownwards(t *testing.T) {
	items := []string{"web:0000000012", "web:0000000010", "web:0000000009", "web:0000000001"}
	var got []string
	token := ""
	for {
		page, next, err := api.Paginate(items, identity, token, ptr[int32](3))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" || len(got) > len(items) {
			break
		}
		token = next
	}
	if !slices.Equal(got, items) {
		t.Errorf("walked %v, want %v", got, items)
	}
}

func TestPaginateRefusesATokenItDidNotGive(t *testing.T) {
	for _, token := range []string{"x", "!!!", "YWJj", "berth1:a"} {
		if _, _, err := api.Paginate([]string{"a"}, identity, token, nil); !errors.Is(err, &api.Error{Type: api.TypeInvalidParameter}) {
			t.Errorf("token %q: got %v, want an InvalidParameterException", token, err)
		}
	}
}
