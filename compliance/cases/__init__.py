"""Cases: alerts grouped for an officer to work, closed by a second officer, and the
suspicious transaction reports (STRs) filed from them."""
