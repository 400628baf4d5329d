"""Protocol front ends for virtual meters: each turns requests on a real socket into meter calls."""
