package controller

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/logstore"
)

// The awslogs streams the server keeps answer two read operations of the
// CloudWatch Logs API (AWS JSON 1.1, target prefix Logs_20140328) on the
// ECS API's endpoint, so that `aws logs get-log-events --endpoint-url`
// reads them as it would on AWS: GetLogEvents and DescribeLogStreams.

// logsTargetPrefix is the X-Amz-Target prefix of CloudWatch Logs.
const logsTargetPrefix = "Logs_20140328."

// isLogsRequest reports whether r calls CloudWatch Logs.
func isLogsRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), logsTargetPrefix)
}

type getLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              *int   `json:"limit"`
	StartFromHead      *bool  `json:"startFromHead"`
	Unmask             bool   `json:"unmask"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type describeLogStreamsInput struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               *int   `json:"limit"`
}

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// serveCloudWatchLogs answers GetLogEvents and DescribeLogStreams.
func (c *Controller) serveCloudWatchLogs(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), logsTargetPrefix)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, api.MaxBodySize))
	if err != nil {
		writeError(w, http.StatusBadRequest, &api.Error{Type: "SerializationException", Message: err.Error()})
		return
	}
	var out any
	switch op {
	case "GetLogEvents":
		var in getLogEventsInput
		if err = json.Unmarshal(body, &in); err == nil {
			out, err = c.getLogEvents(&in)
		}
	case "DescribeLogStreams":
		var in describeLogStreamsInput
		if err = json.Unmarshal(body, &in); err == nil {
			out, err = c.describeLogStreams(&in)
		}
	default:
		writeError(w, http.StatusBadRequest, &api.Error{Type: "UnknownOperationException",
			Message: "berth answers CloudWatch Logs' GetLogEvents and DescribeLogStreams only, not " + op})
		return
	}
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
		writeError(w, http.StatusBadRequest, ae)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, &api.Error{Type: "InvalidParameterException", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", api.ContentType)
	json.NewEncoder(w).Encode(out)
}

// logGroup is the group an input names, by name or by ARN
// (arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]).
func logGroup(name, identifier string) (string, error) {
	if name == "" {
		name = identifier
		if _, rest, ok := strings.Cut(name, ":log-group:"); ok {
			name = strings.TrimSuffix(rest, ":*")
		}
	}
	if name == "" {
		return "", api.InvalidParameterException("logGroupName or logGroupIdentifier is required")
	}
	return name, nil
}

var (
	errNoGroup  = &api.Error{Type: "ResourceNotFoundException", Message: "The specified log group does not exist."}
	errNoStream = &api.Error{Type: "ResourceNotFoundException", Message: "The specified log stream does not exist."}
)

func (c *Controller) getLogEvents(in *getLogEventsInput) (any, error) {
	group, err := logGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == "" {
		return nil, api.InvalidParameterException("logStreamName is required")
	}
	if c.logs == nil {
		return nil, errNoGroup
	}
	src := logstore.Source{Container: in.LogStreamName, Path: "awslogs/" + fileName(group) + "/" + fileName(in.LogStreamName)}
	if _, err := os.Stat(filepath.Join(c.opts.LogDir, "awslogs", fileName(group))); err != nil {
		return nil, errNoGroup
	}
	if _, err := os.Stat(filepath.Join(c.opts.LogDir, filepath.FromSlash(src.Path))); err != nil {
		return nil, errNoStream
	}
	tail, err := c.logs.Tail([]logstore.Source{src}, time.Time{})
	if err != nil {
		return nil, err
	}
	defer tail.Close()
	lines, err := tail.Next()
	if err != nil {
		return nil, err
	}
	events := []outputLogEvent{}
	for _, l := range lines {
		ms := millis(l.Time)
		if in.StartTime != nil && ms < *in.StartTime || in.EndTime != nil && ms >= *in.EndTime {
			continue
		}
		events = append(events, outputLogEvent{Timestamp: ms, Message: l.Line, IngestionTime: ms})
	}
	// A token is where the next page starts: f/INDEX forward, b/INDEX
	// backward. A page that reaches the end gives back the token it was
	// given, which is how CloudWatch Logs says there is no more.
	limit := 10000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, api.InvalidParameterException("limit: want 1 to 10000; got %d", *in.Limit)
		}
		limit = *in.Limit
	}
	start, end := 0, len(events)
	switch {
	case strings.HasPrefix(in.NextToken, "f/"):
		start, _ = strconv.Atoi(in.NextToken[2:])
		start = min(max(start, 0), len(events))
		end = min(start+limit, len(events))
	case strings.HasPrefix(in.NextToken, "b/"):
		end, _ = strconv.Atoi(in.NextToken[2:])
		end = min(max(end, 0), len(events))
		start = max(end-limit, 0)
	case in.NextToken != "":
		return nil, api.InvalidParameterException("nextToken %q is not one berth gave", in.NextToken)
	case in.StartFromHead != nil && *in.StartFromHead:
		end = min(limit, len(events))
	default:
		start = max(len(events)-limit, 0)
	}
	return struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}{events[start:end], "f/" + strconv.Itoa(end), "b/" + strconv.Itoa(start)}, nil
}

func (c *Controller) describeLogStreams(in *describeLogStreamsInput) (any, error) {
	group, err := logGroup(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if c.logs == nil {
		return nil, errNoGroup
	}
	dir := filepath.Join(c.opts.LogDir, "awslogs", fileName(group))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, errNoGroup
	}
	streams := []logStream{}
	for _, e := range entries {
		name, err := url.PathUnescape(e.Name())
		if err != nil || strings.HasSuffix(e.Name(), ".1") || !strings.HasPrefix(name, in.LogStreamNamePrefix) {
			continue // a rotated half, or a name too long, kept under its hash
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		s := logStream{LogStreamName: name, StoredBytes: info.Size(),
			Arn: "arn:aws:logs:" + c.namer.Region + ":" + c.namer.AccountID + ":log-group:" + group + ":log-stream:" + name}
		if tail, err := c.logs.Tail([]logstore.Source{{Container: name, Path: "awslogs/" + fileName(group) + "/" + e.Name()}}, time.Time{}); err == nil {
			if lines, err := tail.Next(); err == nil && len(lines) > 0 {
				s.FirstEventTimestamp, s.LastEventTimestamp = millis(lines[0].Time), millis(lines[len(lines)-1].Time)
				s.CreationTime, s.LastIngestionTime = s.FirstEventTimestamp, s.LastEventTimestamp
			}
			tail.Close()
		}
		streams = append(streams, s)
	}
	sort.Slice(streams, func(i, j int) bool {
		if in.OrderBy == "LastEventTime" {
			return streams[i].LastEventTimestamp < streams[j].LastEventTimestamp
		}
		return streams[i].LogStreamName < streams[j].LogStreamName
	})
	if in.Descending {
		for i, j := 0, len(streams)-1; i < j; i, j = i+1, j-1 {
			streams[i], streams[j] = streams[j], streams[i]
		}
	}
	if in.Limit != nil && *in.Limit > 0 && *in.Limit < len(streams) {
		streams = streams[:*in.Limit]
	}
	return struct {
		LogStreams []logStream `json:"logStreams"`
	}{streams}, nil
}
