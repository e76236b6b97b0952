"""The product loop: lifecycle, auditions, promotion queue, arena races, tickets and settlement, careers."""
