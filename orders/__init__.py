"""Order management: accounts, cash ledger, orders, fills, positions, holdings, execution."""
