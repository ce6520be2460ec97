#!/bin/bash
modprobe ipsecnat && lsmod | grep ipsecnat && rmmod ipsecnat
