"""The wall display (跑马灯大屏): the center's live figures, readable from across the room."""
