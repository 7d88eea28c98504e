"""Reports TradingSite issues to its clients: contract notes as data and as files."""
