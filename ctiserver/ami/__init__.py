"""AMI adapter: the only package that imports panoramisk."""
