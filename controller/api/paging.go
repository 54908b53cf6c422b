package api

import (
	"encoding/base64"
	"sort"
	"strings"
)

// Paging of the List operations. Every List operation of this package
// takes maxResults 1–100 and returns up to 100 items when it is unset (the
// model documents the same bounds for ListClusters, ListContainerInstances,
// ListTasks, ListTaskDefinitions, ListTaskDefinitionFamilies and
// ListAttributes).
const (
	MinResults     = 1
	MaxResults     = 100
	DefaultResults = 100
)

// PageSize reads maxResults: DefaultResults when nil, an
// InvalidParameterException outside 1–100.
func PageSize(maxResults *int32) (int, error) {
	if maxResults == nil {
		return DefaultResults, nil
	}
	if *maxResults < MinResults || *maxResults > MaxResults {
		return 0, InvalidParameterException("maxResults: %d is not between %d and %d", *maxResults, MinResults, MaxResults)
	}
	return int(*maxResults), nil
}

// nextToken is opaque to clients: it holds the key of the last item of the
// page served, so the next page starts after it even when items were added
// or removed between the calls.
const tokenPrefix = "berth1:"

func encodeToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + lastKey))
}

func decodeToken(token string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	key, ok := strings.CutPrefix(string(raw), tokenPrefix)
	if err != nil || !ok {
		return "", InvalidParameterException("nextToken: %q is not a token berth gave", truncate(token, 100))
	}
	return key, nil
}

// Paginate serves one page of items, which must be ordered by key,
// ascending or descending, with no two items of the same key. The key need
// not be what is listed: task definition ARNs list in ECS's order (family,
// then revision as a number) under a key such as "web:0000000010". It
// returns the page and the nextToken of the page after it, empty on the
// last page. nextToken and maxResults are the request's members.
func Paginate[T any](items []T, key func(T) string, nextToken string, maxResults *int32) (page []T, next string, err error) {
	size, err := PageSize(maxResults)
	if err != nil {
		return nil, "", err
	}
	start := 0
	if nextToken != "" {
		after, err := decodeToken(nextToken)
		if err != nil {
			return nil, "", err
		}
		descending := len(items) > 1 && key(items[0]) > key(items[len(items)-1])
		start = sort.Search(len(items), func(i int) bool {
			if descending {
				return key(items[i]) < after
			}
			return key(items[i]) > after
		})
	}
	end := min(start+size, len(items))
	page = items[start:end]
	if end < len(items) {
		next = encodeToken(key(items[end-1]))
	}
	return page, next, nil
}

// After reads a nextToken a page of this package's gave: the key of the
// last item served, after which the next page starts ("" for none).
func After(nextToken string) (string, error) {
	if nextToken == "" {
		return "", nil
	}
	return decodeToken(nextToken)
}

// NextToken is the nextToken of a page whose last item has key lastKey,
// for a List that pages as it reads rather than through Paginate.
func NextToken(lastKey string) string { return encodeToken(lastKey) }
