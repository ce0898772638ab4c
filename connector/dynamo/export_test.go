package dynamo

import "time"

// SetClock replaces the clock the container uses for buffered event times.
func (c *Container) SetClock(now func() time.Time) { c.now = now }
