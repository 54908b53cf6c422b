// Package api is the wire layer of berth's controller: it speaks the Amazon
// ECS API (AWS JSON 1.1, API version 2014-11-13) so that the aws CLI and the
// AWS SDKs work unchanged against berth. It holds the shapes of the
// operations' inputs and outputs, the HTTP protocol, the ECS errors, and
// the ARN and paging helpers the operations need at the boundary. It knows
// nothing of how the operations are done: the controller registers them.
//
// The flow of a request:
//
//	POST /  X-Amz-Target: AmazonEC2ContainerServiceV20141113.RunTask
//	   │    Content-Type: application/x-amz-json-1.1
//	   ▼
//	Mux.ServeHTTP ── method, path, content type, target ──► UnknownOperationException (4xx)
//	   │  body ≤ MaxBodySize, Decode (strict) ─────────────► SerializationException (4xx)
//	   ▼
//	the operation registered with Handle(ctx, *RunTaskInput)
//	   │  (*RunTaskOutput, nil) ─► 200 {"tasks": [...], "failures": [...]}
//	   │  (nil, *Error) ─────────► 400 {"__type": "ClusterNotFoundException", "message": "..."}
//	   └  other error, or panic ─► 500 ServerException, logged; the server lives on
//
// Every answer carries an x-amzn-RequestId header; errors also carry
// X-Amzn-ErrorType, from which the SDKs make their typed errors
// (*types.ClusterNotFoundException in Go).
//
// Registering operations:
//
//	mux := api.NewMux(logger)
//	api.Handle(mux, "ListClusters", func(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
//		arns := ctl.clusterARNs() // sorted
//		page, next, err := api.Paginate(arns, func(s string) string { return s }, in.NextToken, in.MaxResults)
//		if err != nil {
//			return nil, err // an InvalidParameterException
//		}
//		return &api.ListClustersOutput{ClusterArns: page, NextToken: next}, nil
//	})
//	api.Handle(mux, "DeleteCluster", func(ctx context.Context, in *api.DeleteClusterInput) (*api.DeleteClusterOutput, error) {
//		name, err := api.ClusterName(in.Cluster) // a name or an ARN
//		if err != nil {
//			return nil, err
//		}
//		if !ctl.hasCluster(name) {
//			return nil, api.ClusterNotFoundException("")
//		}
//		...
//	})
//	http.ListenAndServe("127.0.0.1:8080", mux)
//
// Requests are read strictly (see Decode): a body of at most MaxBodySize
// bytes (1 MiB; ECS's largest input, a task definition, is at most 64 KiB),
// nested at most MaxDepth deep, holding only the members of the input,
// spelt as the model spells them, each of its type; an empty body reads as
// {}. What does not read is a SerializationException naming the member (a
// missing required member is an InvalidParameterException),
// and the operation never runs.
//
// Operations answer errors with the constructors of this package
// (ClusterNotFoundException, InvalidParameterException ...), wrapped or
// not; errors.Is(err, &api.Error{Type: api.TypeClusterNotFound}) tests one.
//
// Outputs encode with encoding/json: a nil slice goes out as null, so set
// an empty one where ECS answers [] (failures, the items of a List).
// Timestamps go out as epoch seconds and are left out when zero.
package api
