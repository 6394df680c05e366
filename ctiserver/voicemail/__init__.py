"""Voicemail into the panel: messages left in the IVR become work, claimed, called back and closed by agents."""
