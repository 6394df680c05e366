"""The working-time calendar shared by the work orders (deadlines) and the IVR (service hours).

One definition: weekdays' hours, public holidays and make-up days, in one time zone
(:mod:`ctiserver.calendar.working`). The IVR is its own process and imports only this
package and the store from ``ctiserver``.
"""

from ctiserver.calendar.working import (DAYS, Duration, WorkCalendar, parse_dates, parse_duration,
                                        parse_week)

__all__ = ["DAYS", "Duration", "WorkCalendar", "parse_dates", "parse_duration", "parse_week"]
