"""Card processing: the offline simulator and the Stripe adapter behind billing's Processor protocol."""
