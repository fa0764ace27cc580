"""Every write and business rule of Unlearn, one module per entity."""
