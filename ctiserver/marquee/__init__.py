"""marquee"""
