package apigw

// Routes returns "METHOD path" of every route the server's mux serves.
func Routes(s *Server) []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}
